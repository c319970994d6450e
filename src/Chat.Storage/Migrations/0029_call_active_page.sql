-- One active page per person in a call (docs/calls.md, "Two pages of one person"). A person may have the call open on
-- two pages (a second tab, a phone and a laptop): the server holds one camera and one set of subscriptions per person,
-- so only the page that joined last sends and receives. active_page names that page (its hub connection's `page`
-- parameter; a connection without one leaves it null, as before), active_connection the hub connection it joined from
-- (node/connection, as in connection_ids). Media requests from any other page are refused; an automatic rejoin of another page does not take
-- the call back while the active page's connection is open.
ALTER TABLE call_participants
    ADD COLUMN active_page       text,
    ADD COLUMN active_connection text;
