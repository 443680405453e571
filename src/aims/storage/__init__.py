"""Storage: the metadata store (SQLAlchemy), the artifact store (fsspec), the prediction log (Parquet)."""
