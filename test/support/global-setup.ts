// Placeholder until the DynamoDB Local launcher lands (starts one emulator per test run).
export default async function setup(): Promise<void> {}
