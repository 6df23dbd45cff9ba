SELECT "abc FROM docs
