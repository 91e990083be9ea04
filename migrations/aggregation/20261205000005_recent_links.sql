-- The sweep of held activity reads the accounts linked lately (accounts::late_attribution).
CREATE INDEX account_links_linked_at ON account_links (linked_at);
