-- Foundation: accounts and sign-in, schools and their structure, roles, invites, join requests, audit.
-- Public ids are UUIDs (v7, made by the application) so that ids reveal nothing about other schools.

CREATE TABLE accounts (
    id             uuid PRIMARY KEY,
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    phone          text UNIQUE,
    email          text UNIQUE,
    avatar_url     text,
    is_operator    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    CHECK (deleted_at IS NOT NULL OR phone IS NOT NULL OR email IS NOT NULL)
);

-- One-time sign-in codes. The identity (phone or e-mail) and the code are stored only as keyed hashes.
CREATE TABLE sign_in_codes (
    id             uuid PRIMARY KEY,
    identity_hash  bytea NOT NULL,
    code_hash      bytea NOT NULL,
    client_address text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    attempts       int NOT NULL DEFAULT 0,
    consumed_at    timestamptz
);
CREATE INDEX sign_in_codes_identity ON sign_in_codes (identity_hash, created_at DESC);
CREATE INDEX sign_in_codes_client ON sign_in_codes (client_address, created_at DESC);

-- A session is one sign-in on one device; its refresh token rotates, only the current token's hash is kept.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    account_id         uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    refresh_hash       bytea NOT NULL UNIQUE,
    previous_hash      bytea,
    device             text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_previous ON sessions (previous_hash) WHERE previous_hash IS NOT NULL;

CREATE TABLE schools (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    region                text NOT NULL DEFAULT '',
    address               text NOT NULL DEFAULT '',
    journal_url           text,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- Whether following an invite link of a role joins at once or asks an admin first.
    approve_students      boolean NOT NULL DEFAULT false,
    approve_parents       boolean NOT NULL DEFAULT false,
    approve_staff         boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    created_by            uuid REFERENCES accounts(id)
);

-- The first admin is named by phone or e-mail when the school is registered; the account may not exist yet.
CREATE TABLE pending_admins (
    school_id   uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    phone       text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX pending_admins_phone ON pending_admins (phone) WHERE phone IS NOT NULL;
CREATE INDEX pending_admins_email ON pending_admins (email) WHERE email IS NOT NULL;

-- Classes, college groups and the staff room («Учительская»), which every school has from its creation.
CREATE TABLE classes (
    id           uuid PRIMARY KEY,
    school_id    uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('class', 'group', 'staff_room')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    grade        int CHECK (grade BETWEEN 1 AND 12),
    letter       text,
    school_year  int NOT NULL,
    archived_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, id)
);
CREATE UNIQUE INDEX classes_name_per_year ON classes (school_id, school_year, lower(name)) WHERE archived_at IS NULL;
CREATE UNIQUE INDEX classes_one_staff_room ON classes (school_id) WHERE kind = 'staff_room';

-- A person in a school. Roles are columns; a person may be staff and a parent at once.
CREATE TABLE school_members (
    school_id            uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    account_id           uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    is_admin             boolean NOT NULL DEFAULT false,
    is_teacher           boolean NOT NULL DEFAULT false,
    teacher_verified_at  timestamptz,
    teacher_verified_by  uuid REFERENCES accounts(id),
    is_director          boolean NOT NULL DEFAULT false,
    joined_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, account_id),
    CHECK (teacher_verified_at IS NULL OR is_teacher),
    -- The director is a verified teacher with the director mark.
    CHECK (NOT is_director OR teacher_verified_at IS NOT NULL)
);
CREATE INDEX school_members_account ON school_members (account_id);

-- A student belongs to exactly one class of a school: the primary key says so.
CREATE TABLE students (
    school_id   uuid NOT NULL,
    account_id  uuid NOT NULL,
    class_id    uuid NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, account_id),
    FOREIGN KEY (school_id, account_id) REFERENCES school_members(school_id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (school_id, class_id) REFERENCES classes(school_id, id)
);
CREATE INDEX students_class ON students (class_id);

-- Class teachers (curators, tutors): verified teachers attached to classes of their school.
CREATE TABLE class_teachers (
    school_id   uuid NOT NULL,
    class_id    uuid NOT NULL,
    account_id  uuid NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class_id, account_id),
    FOREIGN KEY (school_id, account_id) REFERENCES school_members(school_id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (school_id, class_id) REFERENCES classes(school_id, id)
);
CREATE INDEX class_teachers_account ON class_teachers (school_id, account_id);

-- Parent ↔ child links inside one school. A link to a child is made by a one-child invite,
-- or confirmed by the class teacher or an admin after a class-wide parent invite.
CREATE TABLE parent_links (
    school_id   uuid NOT NULL,
    parent_id   uuid NOT NULL,
    child_id    uuid NOT NULL,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, parent_id, child_id),
    FOREIGN KEY (school_id, parent_id) REFERENCES school_members(school_id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (school_id, child_id) REFERENCES students(school_id, account_id) ON DELETE CASCADE,
    CHECK (parent_id <> child_id)
);
CREATE INDEX parent_links_child ON parent_links (school_id, child_id);

CREATE TABLE invites (
    id            uuid PRIMARY KEY,
    school_id     uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    token         text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('student', 'parent', 'teacher', 'staff')),
    class_id      uuid,
    child_id      uuid,
    created_by    uuid NOT NULL REFERENCES accounts(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    max_uses      int CHECK (max_uses IS NULL OR max_uses > 0),
    uses          int NOT NULL DEFAULT 0,
    revoked_at    timestamptz,
    revoked_by    uuid REFERENCES accounts(id),
    FOREIGN KEY (school_id, class_id) REFERENCES classes(school_id, id),
    CHECK (role NOT IN ('student') OR class_id IS NOT NULL),
    CHECK (child_id IS NULL OR role = 'parent')
);
CREATE INDEX invites_school ON invites (school_id, created_at DESC);

CREATE TABLE join_requests (
    id            uuid PRIMARY KEY,
    school_id     uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    invite_id     uuid NOT NULL REFERENCES invites(id),
    account_id    uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role          text NOT NULL,
    class_id      uuid,
    child_id      uuid,
    child_name    text,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reason        text,
    decided_by    uuid REFERENCES accounts(id),
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX join_requests_one_pending ON join_requests (school_id, account_id, role, coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE status = 'pending';
CREATE INDEX join_requests_school ON join_requests (school_id, status, created_at);

-- Append-only record of what admins, teachers and moderators did.
CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id   uuid REFERENCES schools(id) ON DELETE CASCADE,
    actor_id    uuid REFERENCES accounts(id),
    action      text NOT NULL,
    subject_id  uuid,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_school ON audit_events (school_id, id DESC);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
