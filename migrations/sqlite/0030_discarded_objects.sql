-- Objects of the file storage that no upload row names any more, waiting for the file
-- sweep to delete them. A trigger fills it in the transaction that deletes the upload
-- row, whichever path deletes it (a message deleted with its file, an unconfirmed upload
-- expiring, a room or visitor removed with its uploads by cascade), so no object is
-- forgotten; the sweep deletes each object, then its row. `claimable_at` is when a
-- sweep may claim the row: 0 at first, then the end of the claiming sweep's lease (on the
-- server's clock), after which a row whose object could not be deleted is tried again.
-- `discarded_at` is the database's time of the deletion, for the record.
CREATE TABLE discarded_objects (
    object_key TEXT PRIMARY KEY,
    discarded_at BIGINT NOT NULL,
    claimable_at BIGINT NOT NULL
);
CREATE INDEX discarded_objects_claimable ON discarded_objects (claimable_at);

CREATE TRIGGER uploads_discard_object AFTER DELETE ON uploads
BEGIN
    INSERT OR IGNORE INTO discarded_objects (object_key, discarded_at, claimable_at)
    VALUES (OLD.object_key, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 0);
END;

-- The sweep's search for unconfirmed uploads past their expiry.
CREATE INDEX uploads_unconfirmed ON uploads (uploaded_at) WHERE NOT confirmed;
