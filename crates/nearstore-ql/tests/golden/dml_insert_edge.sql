INSERT EDGE INTO kg (id = 1, source = 10, target = 20, label = 'KNOWS') WITH PROPERTIES (since = 2020, weight = 0.5)
