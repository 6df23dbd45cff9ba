INSERT NODE INTO kg (id = 7, payload = '{"name": "Ann", "tags": [1, 2]}')
