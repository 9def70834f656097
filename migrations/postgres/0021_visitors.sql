-- Archived departments (livechat/department/{id}/archive): out of the department list,
-- autocomplete and routing until unarchived. Archiving also disables the department.
ALTER TABLE departments ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
