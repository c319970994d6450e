-- One pending join request per person, school, role, class and child (docs/data-model.md, join_requests). Before, the
-- child was not part of it: a mother of twins in one class who followed the one-child link of each before anyone decided
-- had the second request overwrite the first one's child, and was linked to one twin only. A class-wide parent link
-- names no child (the approver picks one), so following it again still updates that one request.
-- During a rolling deploy a node without this change cannot make a join request (its ON CONFLICT names the old index)
-- until it is replaced; the table is small, so the swap is quick.
DROP INDEX join_requests_one_pending;
CREATE UNIQUE INDEX join_requests_one_pending ON join_requests (
    school_id, account_id, role,
    coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid),
    coalesce(child_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE status = 'pending';
