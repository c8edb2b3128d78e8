"""Streaming client for Hume's Expression Measurement API."""
