-- The room's values of room-scoped custom fields (Rocket.Chat's room `livechatData`):
-- a JSON object of strings, set by room.saveInfo; NULL while it has none.
ALTER TABLE rooms ADD COLUMN livechat_data TEXT;
