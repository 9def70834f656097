-- When an agent joined a department or its entry last changed (Rocket.Chat shows it
-- as the entry's `_updatedAt`). Entries that exist already get 0.
ALTER TABLE department_agents ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
