-- Byte order (`COLLATE "BINARY"`) is built into SQLite; PostgreSQL's migration of this
-- number creates a collation of that name.
SELECT 1;
