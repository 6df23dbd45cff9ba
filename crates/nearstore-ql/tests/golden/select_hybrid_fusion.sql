SELECT * FROM docs WHERE vector NEAR $v AND content MATCH 'rust database' LIMIT 10 USING FUSION (strategy = 'rrf', k = 60)
