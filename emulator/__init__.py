"""Local emulator of Hume's Expression Measurement streaming API."""
