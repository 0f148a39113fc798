"""PostgreSQL: the read model and the system of record. SQLAlchemy 2 async on asyncpg, Alembic."""
