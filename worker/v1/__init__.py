"""The v1 backend of the worker (HUME_API=v1): one realtime session per recording and
channel, many sessions at once on the process's event loop. See docs/backends.md."""
