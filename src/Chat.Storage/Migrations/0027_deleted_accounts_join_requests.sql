-- Join requests of accounts deleted before the deletion declined them (docs/policies.md, "Account deletion"): a class
-- teacher saw «Удалённый пользователь · указал(а) ребёнка: …» waiting for ever, and approving it took the deleted
-- account into the class. A waiting one is declined as a deletion now does, and the child's name the person typed is
-- erased from every one of theirs.
UPDATE join_requests r SET status = 'rejected', reason = 'Аккаунт удалён.', decided_at = now()
FROM accounts a WHERE a.id = r.account_id AND a.deleted_at IS NOT NULL AND r.status = 'pending';
UPDATE join_requests r SET child_name = NULL
FROM accounts a WHERE a.id = r.account_id AND a.deleted_at IS NOT NULL AND r.child_name IS NOT NULL;
