"""The pages, one module per area: auth, queue, lead, availability, unrouted."""
