CREATE TEXT INDEX ON docs (meta.summary) WITH (stemmer = 'english', stop_words = ['the', 'a'], min_token_chars = 2)
