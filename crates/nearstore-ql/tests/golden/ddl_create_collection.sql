CREATE COLLECTION docs (dimension = 384, metric = 'cosine', storage = 'full', m = 16, ef_construction = 200)
