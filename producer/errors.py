"""The producer's errors, by how the CLI exits on them."""

from __future__ import annotations


class ProducerError(Exception):
    """A failure that is not the user's input (the store or broker failed…): exit 1."""

    exit_code = 1


class InputError(ProducerError):
    """Bad input — a URI, a model config, a batch name, an option: exit 2, nothing enqueued."""

    exit_code = 2
