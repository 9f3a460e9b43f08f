"""The inbound HTTP service (`leadflow ingest`): product events and CRM webhooks become lead signals.

Every endpoint answers 202 only after Temporal accepted each resulting signal, 503 with
Retry-After when Temporal cannot be reached (the sender retries, nothing is lost), and an
RFC 9457 problem body for anything the sender got wrong.
"""
