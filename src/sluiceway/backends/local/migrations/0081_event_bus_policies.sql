-- What DescribeEventBus answers beside a bus's name: its resource-based policy (the JSON
-- document PutPermission and RemovePermission edit), the KMS key and the dead-letter queue
-- CreateEventBus was given. NULL when absent, as AWS then leaves the member out.
ALTER TABLE event_buses ADD COLUMN policy TEXT;
ALTER TABLE event_buses ADD COLUMN kms_key_identifier TEXT;
ALTER TABLE event_buses ADD COLUMN dead_letter_arn TEXT;
