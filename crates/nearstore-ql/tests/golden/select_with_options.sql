SELECT * FROM docs WHERE vector NEAR $v LIMIT 10 WITH (mode = 'accurate', ef_search = 128, timeout_ms = 500, rerank = true, oversampling = 2.5)
