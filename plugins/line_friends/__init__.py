"""LINE friends as seen by Segments: follow status, friend-added date, Lumo friend tags, links."""
