"""Pages for people: the company view (``view``) and its template and assets."""
