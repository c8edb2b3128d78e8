"""Celery workers that run media jobs through the streaming API."""

from worker import metrics_dir

# Before any worker module can import prometheus-client, which picks multiprocess mode at
# import time: the prefork children must write their samples where the main process reads.
metrics_dir.ensure()
