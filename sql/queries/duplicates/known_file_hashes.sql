-- Which of $content_hashes (content SHA-256 of files) are already imported.
SELECT content_sha256 FROM activity_files
WHERE list_contains($content_hashes, content_sha256);
