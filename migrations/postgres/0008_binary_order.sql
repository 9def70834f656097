-- Rocket.Chat (MongoDB) orders strings by their bytes. SQLite's built-in BINARY
-- collation does that; this gives PostgreSQL a collation of the same name, so one SQL
-- text (`ORDER BY name COLLATE "BINARY"`) orders alike on both, whatever the
-- database's default collation.
CREATE COLLATION IF NOT EXISTS "BINARY" FROM "C";
