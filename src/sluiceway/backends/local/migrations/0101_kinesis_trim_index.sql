-- Kinesis's retention trim (backends/local/kinesis/store.py) deletes a stream's records that
-- arrived before a cutoff: without this index each trim read the stream's every record while it
-- held the database's write lock. IF NOT EXISTS: tests rewind schema_version and replay migrations.
CREATE INDEX IF NOT EXISTS kinesis_records_by_arrival ON kinesis_records (stream, arrival_ms);
