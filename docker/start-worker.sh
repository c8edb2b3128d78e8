#!/bin/sh
# Default command of the image: a Celery worker configured from the environment.
# Settings live in env (FLEET_QUEUE, FLEET_CONCURRENCY, LOG_LEVEL), so a shell expands them
# here rather than baking values into CMD. Extra arguments are passed through to Celery.
set -eu

# Without FLEET_CONCURRENCY Celery falls back to its default (the CPU count); without
# FLEET_POOL to prefork.
set -- ${FLEET_CONCURRENCY:+"--concurrency=$FLEET_CONCURRENCY"} ${FLEET_POOL:+"--pool=$FLEET_POOL"} "$@"

# --disable-prefetch (Celery 5.6+, Redis broker): a process takes a message only when it is
# free, so waiting work stays in the Redis list where the autoscaler can see it.
# Gossip, mingle and heartbeat are broadcast chatter a fleet of independent workers does not use.
exec celery -A worker.app worker \
    --queues="${FLEET_QUEUE:-hume}" \
    --loglevel="${LOG_LEVEL:-INFO}" \
    --without-gossip --without-mingle --without-heartbeat \
    --disable-prefetch \
    "$@"
