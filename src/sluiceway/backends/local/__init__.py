"""Local backends: buckets are folders; tables, topics and executions live in SQLite."""
