SELECT content_sha256 FROM activity_files;
