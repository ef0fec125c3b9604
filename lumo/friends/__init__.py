"""LINE friends: webhook events, links to Shopify customers, Lumo friend tags and write-back.

Modules: `events` applies LINE webhook events, `linking` joins a friend to a Shopify customer,
`lumo_tags` manages Lumo friend tags, `messages` keeps the chat with a friend, `directory`
answers the friend list and detail screens, and `write_back` sends LINE status to Shopify.
"""
