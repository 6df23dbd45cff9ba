create graph collection g (dimension = 4, metric = 'cosine') schemaless
