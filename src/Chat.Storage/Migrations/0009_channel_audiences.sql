-- Channels an admin makes for an audience: roles (pupils, parents, staff), optionally of some classes only
-- («Родители 5–7 классов»). Their members follow the roster like the school channel's: a pupil who joins 5А, or a
-- parent linked to them, joins the channel in the same transaction; one who leaves, leaves it. Such a chat carries
-- system_key 'audience:<id>' so that it is treated as a roster chat (nobody leaves it, no links, no removals).

CREATE TABLE channel_audiences (
    chat_id   uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    class_id  uuid REFERENCES classes(id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('student', 'parent', 'staff'))
);
CREATE UNIQUE INDEX channel_audiences_unique ON channel_audiences (chat_id, role, coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid));

CREATE OR REPLACE FUNCTION roster_chat_members(p_school uuid)
RETURNS TABLE (chat_id uuid, account_id uuid, role text) LANGUAGE sql STABLE AS $$
    WITH live AS (
        SELECT m.* FROM school_members m JOIN accounts a ON a.id = m.account_id AND a.deleted_at IS NULL
        WHERE m.school_id = p_school
    ), sys AS (
        SELECT c.id, c.system_key FROM chats c WHERE c.school_id = p_school AND c.system_key IS NOT NULL AND c.archived_at IS NULL
    )
    -- The staff room: every teacher and admin; admins moderate.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'moderator' ELSE 'member' END
    FROM sys s JOIN live l ON l.is_teacher OR l.is_admin WHERE s.system_key = 'staff_room'
    UNION ALL
    -- The administration: admins and the director.
    SELECT s.id, l.account_id, CASE WHEN l.is_director THEN 'owner' ELSE 'moderator' END
    FROM sys s JOIN live l ON l.is_admin OR l.is_director WHERE s.system_key = 'administration'
    UNION ALL
    -- The school channel: everyone; admins post.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'owner' ELSE 'member' END
    FROM sys s CROSS JOIN live l WHERE s.system_key = 'school_channel'
    UNION ALL
    -- The staff channel: staff; admins post.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'owner' ELSE 'member' END
    FROM sys s JOIN live l ON l.is_teacher OR l.is_admin WHERE s.system_key = 'staff_channel'
    UNION ALL
    -- A class chat: the class's pupils, and its class teachers as moderators.
    SELECT s.id, st.account_id, 'member'
    FROM sys s JOIN students st ON s.system_key = 'class:' || st.class_id::text AND st.school_id = p_school
    JOIN live l ON l.account_id = st.account_id
    UNION ALL
    -- A parents' chat: parents of the class's pupils (once each, however many children).
    SELECT DISTINCT s.id, pl.parent_id, 'member'
    FROM sys s JOIN students st ON s.system_key = 'parents:' || st.class_id::text AND st.school_id = p_school
    JOIN parent_links pl ON pl.school_id = p_school AND pl.child_id = st.account_id
    JOIN live l ON l.account_id = pl.parent_id
    WHERE NOT EXISTS (SELECT 1 FROM class_teachers ct WHERE ct.class_id = st.class_id AND ct.account_id = pl.parent_id)
    UNION ALL
    SELECT s.id, ct.account_id, 'moderator'
    FROM sys s JOIN class_teachers ct ON ct.school_id = p_school
      AND (s.system_key = 'class:' || ct.class_id::text OR s.system_key = 'parents:' || ct.class_id::text)
    JOIN live l ON l.account_id = ct.account_id

    UNION ALL
    -- Audience channels (made by an admin for roles, optionally of some classes): admins post.
    SELECT c.id, l.account_id, 'owner'
    FROM chats c JOIN live l ON l.is_admin
    WHERE c.school_id = p_school AND c.archived_at IS NULL AND c.system_key LIKE 'audience:%'
    UNION ALL
    -- ... pupils of the chosen classes (all classes when none is chosen),
    SELECT a.chat_id, st.account_id, 'member'
    FROM channel_audiences a JOIN chats c ON c.id = a.chat_id AND c.school_id = p_school AND c.archived_at IS NULL
    JOIN students st ON st.school_id = p_school AND (a.class_id IS NULL OR st.class_id = a.class_id)
    JOIN live l ON l.account_id = st.account_id
    WHERE a.role = 'student'
    UNION ALL
    -- ... parents of those pupils,
    SELECT a.chat_id, pl.parent_id, 'member'
    FROM channel_audiences a JOIN chats c ON c.id = a.chat_id AND c.school_id = p_school AND c.archived_at IS NULL
    JOIN students st ON st.school_id = p_school AND (a.class_id IS NULL OR st.class_id = a.class_id)
    JOIN parent_links pl ON pl.school_id = p_school AND pl.child_id = st.account_id
    JOIN live l ON l.account_id = pl.parent_id
    WHERE a.role = 'parent'
    UNION ALL
    -- ... and the staff (teachers and admins; classes do not narrow them).
    SELECT a.chat_id, l.account_id, 'member'
    FROM channel_audiences a JOIN chats c ON c.id = a.chat_id AND c.school_id = p_school AND c.archived_at IS NULL
    JOIN live l ON l.is_teacher OR l.is_admin
    WHERE a.role = 'staff'
$$;
