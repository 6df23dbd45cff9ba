FLUSH docs
