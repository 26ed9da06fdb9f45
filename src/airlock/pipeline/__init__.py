"""The upload pipeline: receive → stage → inspect → commit, and serve. No Flask here."""
