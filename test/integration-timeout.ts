// Integration tests wait on real controllers and processes: give each test up to 5 minutes
// (project-level `testTimeout` is not honoured by Jest 30's projects).
import { jest } from '@jest/globals';

jest.setTimeout(300_000);
