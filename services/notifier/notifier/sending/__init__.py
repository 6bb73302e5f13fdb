"""Sending: the durable schedule, the dispatcher, each kind of job, the channels and who may be sent to."""
