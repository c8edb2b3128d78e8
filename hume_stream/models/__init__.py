"""Model configs (`hume_stream.models.config`) and wire messages (`hume_stream.models.messages`)."""
