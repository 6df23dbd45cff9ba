INSERT NODE INTO kg (id = $id)
