-- The chat-server processes (nodes) serving hub connections, each with its last sign of life (docs/calls.md, "A node
-- that died"). A call participant's connection_ids now name the node of each connection ('<node>/<connection>'), so
-- that when a node dies without closing its connections (killed, frozen, its machine gone) or stops (its closes are
-- not recorded: the pages come back elsewhere), the other nodes forget its connections: a person with none left is
-- gone since the node was last seen, and the usual sweep takes them out unless they come back. Entries written
-- before this migration (no '/') are left as they were.
CREATE TABLE hub_nodes (
    id          text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now(),
    stopped_at  timestamptz,
    -- When another node forgot this one's connections (set once it is dead; cleared if it is seen again).
    swept_at    timestamptz
);
