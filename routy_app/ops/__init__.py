"""Operations: backups and restores, start-up checks for several workers and replicas."""
