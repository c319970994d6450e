-- Who started a call, apart from who hosts it now: someone present may take the place of a host who is away
-- (TakeOverCall), and the one who started it keeps a say in it — takes the place back at any time, cannot be removed
-- or silenced by whoever stood in, and still reads its attendance. Null for calls of before: their host started them.
ALTER TABLE calls ADD COLUMN started_by uuid REFERENCES accounts(id);
