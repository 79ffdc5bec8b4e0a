// CSS modules (Vite turns them into class-name maps); the shared tsconfig does not load vite/client.
declare module "*.module.css" {
  const classes: Readonly<Record<string, string>>;
  export default classes;
}
