"""Backends behind the ports: ``local`` (folders, SQLite) and ``aws`` (boto3)."""
