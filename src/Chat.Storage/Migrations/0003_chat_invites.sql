-- Invite links to a chat (role 'chat'): only members of the chat's school can use them, and they accept the chat's rules.
ALTER TABLE invites ADD COLUMN chat_id uuid REFERENCES chats(id) ON DELETE CASCADE;
ALTER TABLE invites DROP CONSTRAINT invites_role_check;
ALTER TABLE invites ADD CONSTRAINT invites_role_check CHECK (role IN ('student', 'parent', 'teacher', 'chat'));
ALTER TABLE invites ADD CONSTRAINT invites_chat_has_chat CHECK ((role = 'chat') = (chat_id IS NOT NULL));
