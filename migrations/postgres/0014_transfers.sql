-- Transfers: a room's transfer history is its `livechat_transfer_history` messages,
-- listed oldest first by livechat/transfer.history.
CREATE INDEX messages_transfer_history ON messages (room_id, ts) WHERE kind = 'livechat_transfer_history';
