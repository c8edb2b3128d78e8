"""Celery workers that run media jobs through the streaming API."""
