INSERT NODE INTO kg (id = 1, payload = '{not json}')
